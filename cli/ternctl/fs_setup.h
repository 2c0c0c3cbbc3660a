#pragma once
// Directories and files with exact owners and modes, as `ternctl check`
// (like `postfix set-permissions`) sets them. Symbolic links are never
// followed: each path is opened with O_NOFOLLOW and changed through the
// descriptor (fchown, fchmod), so a link planted in a directory an
// unprivileged account can write cannot redirect a chown done as root.

#include <sys/types.h>

#include <string>

#include "common/base/result.h"

namespace tern::ctl {

struct Ownership {
  uid_t uid = 0;
  gid_t gid = 0;
  mode_t mode = 0;  // including the sticky and set-id bits
};

// Creates the directory when missing (its parent must exist) and sets owner
// and mode when they differ, printing one line per change unless quiet.
// When not root, a directory owned by someone else is an error rather than
// something to fix: ternctl cannot chown it.
Status ensure_dir(const std::string& path, const Ownership& want, bool quiet);
// Same for an existing regular file (a missing file is not an error).
Status ensure_file(const std::string& path, const Ownership& want, bool quiet);

// Checks that every ancestor of path (not path itself) is searchable by
// "other", so the unprivileged accounts can reach path. The error names the
// first ancestor that is not, and what to do about it.
Status check_traversable(const std::string& path);

// "/a/b/c" -> "/a/b"; "/a" -> "/".
std::string parent_dir(const std::string& path);

}  // namespace tern::ctl
