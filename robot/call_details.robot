*** Settings ***
Documentation     Call details, manual 2.1: log in to «Виртуальный менеджер», move the chosen
...               numbers into «Текущая выборка», order «Детализация разговоров» for the period
...               (PDF for Tarifer, or XML / HTML), collect the document from the mailbox, check
...               it and upload it to Tarifer.
...
...               Which numbers: the groups named in CALL_DETAILS_GROUPS, by default every number
...               of each personal account. Period: the last closed month, or CALL_DETAILS_FROM
...               to CALL_DETAILS_TO. Format: CALL_DETAILS_FORMAT (pdf, xml, html).
Metadata          Environment    ${ENVIRONMENT}
Metadata          Period    ${PERIOD}

Resource          resources/common.resource
Resource          resources/portal.resource
Resource          resources/mailbox.resource
Resource          resources/tarifer.resource

Suite Setup       Start The Run
Suite Teardown    Finish The Run


*** Tasks ***
Log In To The Virtual Manager
    [Documentation]    Manual 1.1, as for the invoice: one attempt only. In the whole month the
    ...    invoice routine's login goes on.
    [Tags]    per-login    robot:exit-on-failure
    Log In To The Virtual Manager Once

Order The Call Details Of Every Group
    [Documentation]    Manual 2.1, for each group of numbers: move the numbers into «Текущая
    ...    выборка», «Заказать документ» → «Детализация разговоров», the period, the e-mail,
    ...    the format, «Я принимаю правила использования системы», «Заказать». Plan mode
    ...    orders nothing (see the invoice's task).
    [Tags]    per-login
    Log In To The Virtual Manager Once
    Connect To Tarifer
    ${groups}=    Groups Of Numbers To Handle
    FOR    ${group}    IN    @{groups}
        Order The Call Details Unless Done Before    ${group}
    END
    Walk The Order Screens Once Per Login    ${{ [group['account'] for group in $groups] }}
    Log Out Of The Virtual Manager
    Report The Documents    @{CALL_DETAILS_DOCUMENTS}

Collect The Call Details From The Mailbox
    [Documentation]    Waits for each ordered document's e-mail (one pass over the mailbox, in any
    ...    order, only the operator's mail after the order), unpacks a ZIP safely, and checks
    ...    the document: the ordered format, the period, no number that was not ordered. In the
    ...    whole month this one pass collects the invoices too.
    VAR    ${kind}=    ${{ '' if $WHOLE_MONTH else 'call_details' }}
    Collect Every Ordered Document    ${kind}

Upload The Call Details To Tarifer
    [Documentation]    Uploads each received and checked document to Tarifer with its numbers.
    Connect To Tarifer
    Adopt Unfinished Documents
    VAR    ${kind}=    ${{ '' if $WHOLE_MONTH else 'call_details' }}
    Upload Every Received Document    ${kind}


*** Keywords ***
Groups Of Numbers To Handle
    [Documentation]    The configured groups of numbers, or one group per personal account
    ...    with all its numbers. A group the portal cannot serve fails with the reason.
    VAR    @{CALL_DETAILS_DOCUMENTS}=    @{EMPTY}    scope=SUITE
    ${listed}=    Personal Accounts Of The Login
    ${accounts}    ${_}=    Choose Accounts    ${listed}    ${SETTINGS}[MTS_ACCOUNTS]
    ${numbers}=    Numbers By Personal Account
    ${groups}    ${refused}=    Choose Groups    ${SETTINGS}[CALL_DETAILS_GROUPS]    ${numbers}    ${accounts}
    FOR    ${group}    IN    @{refused}
        ${key}=    Add Call Details    ${group}
        Fail Document    ${key}    Group '${group}[name]': ${group}[reason]
    END
    RETURN    ${groups}

Order The Call Details Unless Done Before
    [Documentation]    Orders the call details of one group, unless Tarifer already holds
    ...    them (skipped) or an earlier run ordered them (continued, looked up in the
    ...    portal's history when that run died in the middle of ordering).
    [Arguments]    ${group}
    ${key}=    Add Call Details    ${group}
    TRY
        IF    not ${PLAN}
            ${status}=    Continue An Interrupted Order    ${key}
            IF    $status    RETURN
        END
        ${record}=    Tarifer Record Of    ${group}[account]    call_details
        ...    ${SETTINGS}[CALL_DETAILS_FROM]    ${SETTINGS}[CALL_DETAILS_TO]    @{group}[numbers]
        IF    ${PLAN}
            Plan The Document    ${key}    ${record}
        ELSE IF    $record
            Mark Document    ${key}    skipped    tarifer_id=${record}[id]    sha256=${record}[sha256]
        ELSE
            IF    $group['whole_account']
                Drag Personal Account Into The Selection    ${group}[account]
            ELSE
                Move Numbers Into The Selection    ${group}[account]    @{group}[numbers]
            END
            Record The Order    ${key}    Order The Call Details    ${{len($group['numbers'])}}
            ...    ${SETTINGS}[CALL_DETAILS_FROM]    ${SETTINGS}[CALL_DETAILS_TO]
            ...    ${SETTINGS}[REPORT_EMAIL]    ${SETTINGS}[CALL_DETAILS_FORMAT]
        END
    EXCEPT    AS    ${error}
        Fail Document    ${key}    ${error}
    END

Add Call Details
    [Documentation]    Enters the call details of a group of numbers in the ledger and in this
    ...    routine's list of documents.
    [Tags]    robot:private
    [Arguments]    ${group}
    ${key}=    Add Document    ${SETTINGS}[MTS_LOGIN]    ${group}[account]    call_details
    ...    ${SETTINGS}[CALL_DETAILS_FROM]    ${SETTINGS}[CALL_DETAILS_TO]
    ...    ${SETTINGS}[CALL_DETAILS_FORMAT]    ${group}[numbers]
    Append To List    ${CALL_DETAILS_DOCUMENTS}    ${key}
    RETURN    ${key}
