/^UPPER@/i        case sensitive now
/a.b/x            basic syntax
/^x$/m            multi line
/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)/ $10 ${10} $(9)
