if /x/
/y/ z
