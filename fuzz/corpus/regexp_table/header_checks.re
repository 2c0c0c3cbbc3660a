# sender rewriting
/^(.*)@old\.example\.com$/      ${1}@new.example.com
/^postmaster@/                  root
!/@example\.(com|org)$/         REJECT not ours
