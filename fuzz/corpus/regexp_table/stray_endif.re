/y/ z
endif
