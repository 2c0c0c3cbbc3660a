// lmdb:/path — lookups in /path.lmdb, the single-file LMDB database that
// build_lmdb() (ternmap) makes from /path.
//
// The file is opened MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK. NOLOCK is safe
// here only because of how the file is written: nobody ever writes a table
// in place. build_lmdb() writes a whole new file beside it and rename(2)s it
// over the old name, so the inode a reader has mapped never changes, and it
// keeps reading that consistent old snapshot until it reopens (noticing the
// change and restarting is the daemon's job). Without writers there is no
// reader table to maintain, hence no "-lock" file: a reader needs no write
// access to the directory and nothing beside the table inside a chroot.
// For the same reason lookups may run on several threads at once: a read
// transaction with NOLOCK only reads the meta pages of an unchanging file.
//
// Never open such a file with a writer (mdb_env_open without MDB_RDONLY)
// while daemons read it: that would need the lock file they do not use.

#include <lmdb.h>

#include "common/base/strings.h"
#include "common/table/backends.h"
#include "common/table/lmdb_handles.h"

namespace tern::table {

std::string lmdb_file(const std::string& path) { return path + ".lmdb"; }

namespace detail {
namespace {

class LmdbTable final : public Table {
 public:
  LmdbTable(std::string name, MdbEnv env, MDB_dbi dbi)
      : name_(std::move(name)),
        env_(std::move(env)),
        dbi_(dbi),
        max_key_(static_cast<size_t>(mdb_env_get_maxkeysize(env_.get()))) {}

  Result<std::string> lookup(std::string_view key) const override {
    if (Status st = check_key(key); !st) return st.take_error();
    // LMDB refuses empty and over-long keys (MDB_BAD_VALSIZE); build_lmdb
    // never stores one, so they are simply absent.
    if (key.empty() || key.size() > max_key_) return not_found();
    auto txn = begin();
    if (!txn) return txn.take_error();
    std::string folded = to_lower(key);
    MDB_val k = mdb_val(folded);
    MDB_val v{};
    int rc = mdb_get(txn->get(), dbi_, &k, &v);
    if (rc == MDB_NOTFOUND) return not_found();
    if (rc != 0) return mdb_error(Errc::kTemporary, name_ + ": mdb_get", rc);
    return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  }

  const std::string& name() const override { return name_; }

  Result<std::vector<Entry>> entries() const override {
    auto txn = begin();
    if (!txn) return txn.take_error();
    MDB_cursor* raw = nullptr;
    if (int rc = mdb_cursor_open(txn->get(), dbi_, &raw); rc != 0)
      return mdb_error(Errc::kTemporary, name_ + ": mdb_cursor_open", rc);
    MdbCursor cursor(raw);
    std::vector<Entry> out;
    MDB_val k{}, v{};
    int rc;
    for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
      out.push_back(Entry{std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                          std::string(static_cast<const char*>(v.mv_data), v.mv_size), 0});
    }
    if (rc != MDB_NOTFOUND) return mdb_error(Errc::kTemporary, name_ + ": mdb_cursor_get", rc);
    return out;
  }

 private:
  Result<MdbTxn> begin() const {
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_.get(), nullptr, MDB_RDONLY, &txn); rc != 0)
      return mdb_error(Errc::kTemporary, name_ + ": mdb_txn_begin", rc);
    return MdbTxn(txn);
  }

  Error not_found() const { return make_error(Errc::kNotFound, name_ + ": not found"); }

  std::string name_;
  MdbEnv env_;
  MDB_dbi dbi_;
  size_t max_key_;
};

}  // namespace

Result<std::unique_ptr<Table>> open_lmdb(const std::string& name, const std::string& path) {
  const std::string file = lmdb_file(path);
  int rc;
  MdbEnv env = create_env(&rc);
  if (!env) return mdb_error(Errc::kTemporary, name + ": mdb_env_create", rc);
  rc = mdb_env_open(env.get(), file.c_str(), MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0);
  if (rc != 0) return mdb_error(Errc::kInvalid, name + ": open " + file, rc);

  MDB_txn* raw = nullptr;
  if ((rc = mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &raw)) != 0)
    return mdb_error(Errc::kTemporary, name + ": mdb_txn_begin", rc);
  MdbTxn txn(raw);
  MDB_dbi dbi = 0;
  if ((rc = mdb_dbi_open(txn.get(), nullptr, 0, &dbi)) != 0)
    return mdb_error(Errc::kCorrupt, name + ": mdb_dbi_open " + file, rc);
  // Committing the read transaction keeps the dbi handle for later ones.
  if ((rc = mdb_txn_commit(txn.release())) != 0) return mdb_error(Errc::kTemporary, name + ": mdb_txn_commit", rc);
  return std::unique_ptr<Table>(std::make_unique<LmdbTable>(name, std::move(env), dbi));
}

}  // namespace detail
}  // namespace tern::table
