"""doudi (兜底): the command line that ties the rule engine and the web editor together."""
