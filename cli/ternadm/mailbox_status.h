#pragma once
// ternadm mailbox status USER: what is in a user's Maildir, for the
// administrator. Reads only: it never writes maildirsize (ternadm may run
// as root, and a file of root's in a vmail Maildir would stop deliveries).

#include <string>

#include "common/config/main_cf.h"

namespace tern::adm {

// Prints the report on stdout; returns the exit status (0, or 1 with the
// reason on stderr).
int mailbox_status(const config::MainCf& cf, const std::string& user);

}  // namespace tern::adm
