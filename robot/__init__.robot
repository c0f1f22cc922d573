*** Settings ***
Documentation     The whole month in one run (``make run``): the invoices (manual 1.1, 1.2),
...               the call details (2.1), then the upload of whatever is still missing in
...               Tarifer. The environment, the summary, the login and the browser are shared
...               by the three routines; everything is ordered first and the documents are
...               collected from the mailbox in one pass, so the operator's delivery delay is
...               waited once.
Metadata          Environment    ${ENVIRONMENT}
Metadata          Period    ${PERIOD}

Resource          resources/common.resource

Suite Setup       Start The Whole Month
Suite Teardown    Finish The Run

Name              Monthly Telecom Paperwork
