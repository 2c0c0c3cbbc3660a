#pragma once
// Owners of LMDB's C handles, internal to common/table. Zero-size deleters,
// so each is one pointer. A transaction is committed by releasing it into
// mdb_txn_commit(), which frees it whatever the outcome.

#include <lmdb.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace tern::table::detail {

struct MdbEnvClose {
  void operator()(MDB_env* env) const noexcept { mdb_env_close(env); }
};
struct MdbTxnAbort {
  void operator()(MDB_txn* txn) const noexcept { mdb_txn_abort(txn); }
};
struct MdbCursorClose {
  void operator()(MDB_cursor* cursor) const noexcept { mdb_cursor_close(cursor); }
};
using MdbEnv = std::unique_ptr<MDB_env, MdbEnvClose>;
using MdbTxn = std::unique_ptr<MDB_txn, MdbTxnAbort>;
using MdbCursor = std::unique_ptr<MDB_cursor, MdbCursorClose>;

// "what: <mdb_strerror>"; rc > 0 is an errno (kept in Error::err as kSystem),
// rc < 0 an LMDB code (reported as `code`).
inline Error mdb_error(Errc code, const std::string& what, int rc) {
  Error e{rc > 0 ? Errc::kSystem : code, rc > 0 ? rc : 0, what + ": " + mdb_strerror(rc)};
  return e;
}

inline MdbEnv create_env(int* rc) {
  MDB_env* env = nullptr;
  *rc = mdb_env_create(&env);
  return MdbEnv(*rc == 0 ? env : nullptr);
}

inline MDB_val mdb_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

}  // namespace tern::table::detail
