/x/q result
