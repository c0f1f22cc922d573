"""Python keyword libraries of the robot: portal, mailbox, documents, ledger, Tarifer."""
