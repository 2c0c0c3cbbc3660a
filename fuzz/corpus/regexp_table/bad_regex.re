/(unclosed/ z
/[z-a]/ z
