module pii-edge/origin-parsers

go 1.19
