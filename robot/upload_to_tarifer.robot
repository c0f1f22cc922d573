*** Settings ***
Documentation     The final step of every month: upload to Tarifer every document that has been
...               collected and checked but is not in Tarifer yet, whichever routine collected it
...               and whenever (for instance during a Tarifer outage). Asks Tarifer first, so it
...               is safe to run at any time and any number of times.
Metadata          Environment    ${ENVIRONMENT}
Metadata          Period    ${PERIOD}

Resource          resources/common.resource
Resource          resources/tarifer.resource

Suite Setup       Start The Run
Suite Teardown    Finish The Run


*** Tasks ***
Upload Every Collected Document Tarifer Does Not Have Yet
    [Documentation]    «Загружаем полученные отчёты в «Tarifer»»: each received document of
    ...    this run or an earlier one, unless Tarifer already holds the same file.
    Connect To Tarifer
    Adopt Unfinished Documents
    Upload Every Received Document
