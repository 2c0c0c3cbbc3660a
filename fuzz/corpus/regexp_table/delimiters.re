|^/var/mail/(.*)|   $1
#not a comment#  hash-delimited
~^a\~b~          tilde
%^100\%%         percent
!,^neg,          negated with comma
