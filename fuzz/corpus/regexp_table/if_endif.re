if /@example\.com$/
/^(a|b)(.*)@/     $1-$2@example.net
if !/^admin/
/./               user $$ literal
endif
endif
/.*/              default
