*** Settings ***
Documentation     The whole month in one run (``make run``): the invoices (manual 1.1, 1.2),
...               the call details (2.1), then the upload of whatever is still missing in
...               Tarifer. The environment and the summary are shared by the three routines.
Metadata          Environment    ${ENVIRONMENT}
Metadata          Period    ${PERIOD}

Resource          resources/common.resource

Suite Setup       Start The Run
Suite Teardown    Finish The Run

Name              Monthly Telecom Paperwork
