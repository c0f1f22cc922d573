*** Settings ***
Documentation     The monthly invoice, manual 1.1 and 1.2: log in to «Виртуальный менеджер»,
...               order «Сформированные счета закрытых расчётных периодов» of the last closed
...               month for every personal account of the login, collect the PDFs from the
...               mailbox, check them, and upload them to Tarifer.
...
...               Safe to run again: a document Tarifer already holds is skipped, one
...               ordered or received by an earlier run is continued, never ordered twice.
...               Results: results/summary.json, report.html, log.html, results/documents/.
Metadata          Environment    ${ENVIRONMENT}
Metadata          Period    ${PERIOD}

Resource          resources/common.resource
Resource          resources/portal.resource
Resource          resources/mailbox.resource
Resource          resources/tarifer.resource

Suite Setup       Start The Run
Suite Teardown    Finish The Run


*** Variables ***
${ONE_PASS}    In the whole month the invoices are collected and uploaded in one pass with
...            the call details, once everything is ordered.


*** Tasks ***
Log In To The Virtual Manager
    [Documentation]    Manual 1.1: the login page, the number without +7, the password, «Войти».
    ...    One attempt only: a refused login stops the run (with several logins, only
    ...    that login's part).
    [Tags]    per-login    robot:exit-on-failure
    Log In To The Virtual Manager Once

Order The Invoice Of Every Personal Account
    [Documentation]    Manual 1.2, for each personal account: drag it into «Текущая выборка»,
    ...    «Заказать документ» → «Сформированные счета закрытых расчётных периодов», the
    ...    period, the e-mail and PDF, «Заказать». Plan mode (MODE=plan) orders nothing: it
    ...    writes down what it would do and walks every order screen once, up to «Заказать».
    [Tags]    per-login
    Log In To The Virtual Manager Once
    Connect To Tarifer
    ${accounts}=    Personal Accounts To Handle
    FOR    ${account}    IN    @{accounts}
        Order The Invoice Unless Done Before    ${account}
    END
    Walk The Order Screens Once Per Login    ${accounts}
    Leave The Virtual Manager Unless More Orders Follow
    Report The Documents    @{INVOICES}

Collect The Invoices From The Mailbox
    [Documentation]    Waits for each ordered invoice's e-mail (one pass over the mailbox, in any
    ...    order, only the operator's mail after the order), saves the PDF and checks that
    ...    it names the ordered personal account and period. In the whole month this is
    ...    done in one pass with the call details, after they are ordered too.
    Pass Execution If    ${WHOLE_MONTH}    ${ONE_PASS}
    Collect Every Ordered Document    invoice

Upload The Invoices To Tarifer
    [Documentation]    Uploads each received and checked invoice to Tarifer with its
    ...    metadata («Загружаем полученные отчёты в «Tarifer»»). In the whole month this is
    ...    done with the call details.
    Pass Execution If    ${WHOLE_MONTH}    ${ONE_PASS}
    Connect To Tarifer
    Adopt Unfinished Documents
    Upload Every Received Document    invoice


*** Keywords ***
Personal Accounts To Handle
    [Documentation]    The personal accounts of the login, or the configured subset
    ...    (MTS_ACCOUNTS). A configured account the portal does not list fails.
    VAR    @{INVOICES}=    @{EMPTY}    scope=SUITE
    ${listed}=    Personal Accounts Of The Login
    ${accounts}    ${unknown}=    Choose Accounts    ${listed}    ${SETTINGS}[MTS_ACCOUNTS]
    FOR    ${account}    IN    @{unknown}
        ${key}=    Add Invoice    ${account}
        Fail Document    ${key}
        ...    Personal account ${account} is not listed for login ${SETTINGS}[MTS_LOGIN] in the portal.
    END
    RETURN    ${accounts}

Order The Invoice Unless Done Before
    [Documentation]    Orders the invoice of one personal account, unless Tarifer already
    ...    holds it (skipped) or an earlier run ordered it (continued, looked up in the
    ...    portal's history when that run died in the middle of ordering). Plan mode
    ...    only writes down which of the three it would be.
    [Arguments]    ${account}
    ${key}=    Add Invoice    ${account}
    TRY
        IF    not ${PLAN}
            ${status}=    Continue An Interrupted Order    ${key}
            IF    $status    RETURN
        END
        ${record}=    Tarifer Record Of    ${account}    invoice    ${PERIOD_FROM}    ${PERIOD_TO}
        IF    ${PLAN}
            Plan The Document    ${key}    ${record}
        ELSE IF    $record
            Mark Document    ${key}    skipped    tarifer_id=${record}[id]    sha256=${record}[sha256]
        ELSE
            Drag Personal Account Into The Selection    ${account}
            Record The Order    ${key}
            ...    Order The Closed Period Invoice    ${account}    ${PERIOD}    ${SETTINGS}[REPORT_EMAIL]
        END
    EXCEPT    AS    ${error}
        Fail Document    ${key}    ${error}
    END

Add Invoice
    [Documentation]    Enters the invoice of a personal account for the period in the ledger
    ...    and in this routine's list of invoices.
    [Tags]    robot:private
    [Arguments]    ${account}
    ${key}=    Add Document    ${SETTINGS}[MTS_LOGIN]    ${account}    invoice    ${PERIOD_FROM}    ${PERIOD_TO}
    Append To List    ${INVOICES}    ${key}
    RETURN    ${key}
