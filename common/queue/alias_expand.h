#pragma once
// Alias expansion, the part of the cleanup step that turns the recipients a
// client gave into the final ones (DESIGN.md, "The queue"):
//
//   virtual_alias_maps   full address, then the address without its
//                        extension (user+tag@domain -> user@domain), whose
//                        results then get the extension (user+tag@domain
//                        -> alias to demo@x gives demo+tag@x), as Postfix's
//                        default propagate_unmatched_extensions does
//   alias_maps           local part (then without extension) of an address
//                        in mydestination, and postmaster/abuse of every
//                        local domain (RFC 5321 4.5.1, RFC 2142)
//
// Expansion is recursive (a result is looked up again), one-to-many, and
// bounded: at most kMaxDepth levels and kMaxResults recipients per message;
// past that the message is refused as a loop, never delivered half-way.
// An alias that names itself ("bob: bob, archive") keeps itself as a final
// recipient. A target without "@" gets "@myorigin". Each resulting recipient
// keeps the ORCPT and NOTIFY of the one it came from, and records the
// address before expansion (qfile "original=") when no ORCPT says it.
// Targets Tern cannot deliver ("|command", "/file", ":include:") are
// dropped with a warning: Tern has no local(8) delivery agent.

#include <string>
#include <vector>

#include "common/base/result.h"
#include "common/queue/qfile.h"
#include "common/table/table.h"

namespace tern::queue {

struct AliasSettings {
  std::vector<const table::Table*> virtual_alias_maps;
  std::vector<const table::Table*> alias_maps;
  std::vector<std::string> mydestination;  // lower case
  std::vector<std::string> local_domains;  // lower case: mydestination + virtual_mailbox_domains
  std::string myorigin;
  std::string delimiters;  // recipient_delimiter
};

inline constexpr int kMaxAliasDepth = 20;
inline constexpr size_t kMaxAliasResults = 1000;

// Errc::kLimit for a loop or too many results; Errc::kTemporary when a table
// failed (the caller answers 4xx).
Result<std::vector<Recipient>> expand_aliases(const AliasSettings& settings, const std::vector<Recipient>& in,
                                              std::vector<std::string>* warnings = nullptr);

}  // namespace tern::queue
