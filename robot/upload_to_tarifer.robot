*** Settings ***
Documentation     The final step of every month: upload to Tarifer every document that has been
...               collected and checked but is not in Tarifer yet, whichever routine collected it
...               and whenever (for instance during a Tarifer outage), by the channel
...               TARIFER_CHANNEL names: through Tarifer's API, asking Tarifer first, or by
...               e-mail to its collector, where the ledger says what was sent and a mail cut
...               short goes again with the same Message-ID. Safe to run at any time and any
...               number of times.
Metadata          Environment    ${ENVIRONMENT}
Metadata          Period    ${PERIOD}

Resource          resources/common.resource
Resource          resources/tarifer.resource

Suite Setup       Start The Run
Suite Teardown    Finish The Run


*** Tasks ***
Upload Every Collected Document Tarifer Does Not Have Yet
    [Documentation]    «Загружаем полученные отчёты в «Tarifer»»: each received document of
    ...    this run or an earlier one, unless Tarifer already holds the same file (API)
    ...    or its mail was sent (e-mail).
    Connect To Tarifer
    Adopt Unfinished Documents
    Upload Every Received Document
