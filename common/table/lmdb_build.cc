// build_lmdb(): a new <path>.lmdb, replaced whole so that readers opened
// with MDB_NOLOCK (lmdb_table.cc) never see a file change under them.
//
//   1. write every entry into <path>.lmdb.tmp.<pid> (a fresh single-file
//      environment, MDB_NOLOCK: the file is ours alone until the rename),
//   2. commit, then mdb_env_sync(force) so the data is on disk,
//   3. rename over <path>.lmdb and fsync the directory (durable_rename).
// A crash at any point leaves the old table or the new one, never a mix; a
// leftover temporary file from a crash is removed by the next build with the
// same pid, and is never read.
//
// Entries are sorted and written with MDB_APPEND, which fills pages
// completely (smaller file, faster build). The map size is an estimate from
// the input with headroom; if LMDB still reports MDB_MAP_FULL the build
// starts over with twice the size.
//
// The file is created mode 0644 less the umask and owned by whoever runs the
// build, as with postmap: build a table as the user that should own it.

#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/base/durable.h"
#include "common/base/strings.h"
#include "common/table/backends.h"
#include "common/table/lmdb_handles.h"

namespace tern::table {
namespace {

constexpr int kMaxAttempts = 6;

struct Item {
  std::string key;  // folded
  const Entry* entry;
};

// Removes the temporary file unless the build got as far as the rename.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) { remove(); }
  ~TempFile() {
    if (!path_.empty()) remove();
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void remove() const { ::unlink(path_.c_str()); }  // ENOENT is fine
  void keep() { path_.clear(); }

 private:
  std::string path_;
};

std::string where(const std::string& path, const Entry& e) {
  return e.line > 0 ? path + ":" + std::to_string(e.line) : path;
}

// Folded keys in LMDB's order (memcmp, then length: std::string's order),
// the first entry of each key kept.
Result<std::vector<Item>> prepare(const std::string& path, const std::vector<Entry>& entries, size_t max_key) {
  std::vector<Item> items;
  items.reserve(entries.size());
  for (const auto& e : entries) {
    if (e.key.empty()) return invalid(where(path, e) + ": empty key");
    if (e.key.size() > max_key)
      return invalid(where(path, e) + ": key longer than " + std::to_string(max_key) + " bytes (the lmdb limit)");
    items.push_back(Item{to_lower(e.key), &e});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
  items.erase(std::unique(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.key == b.key; }),
              items.end());
  return items;
}

// Bytes the database will need: leaf nodes (header, key, value or overflow
// page number) at most half-full after branch pages and slack, plus overflow
// pages for large values, plus room for the meta and root pages.
size_t estimate_map_size(const std::vector<Item>& items) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t node_max = page / 2 - 16;  // LMDB moves larger values to overflow pages
  size_t leaf = 0, overflow = 0;
  for (const auto& it : items) {
    size_t v = it.entry->value.size();
    if (it.key.size() + v + 8 > node_max) {
      leaf += it.key.size() + 8 + 8 + 2;
      overflow += (v + 16 + page - 1) / page * page;
    } else {
      leaf += it.key.size() + v + 8 + 2;
    }
  }
  size_t total = 2 * leaf + overflow + (1 << 20);
  const size_t mib = 1 << 20;
  return (total + total / 2 + mib - 1) / mib * mib;
}

// Writes the items into a new environment at tmp. *map_full is set when the
// map size was too small (the caller retries bigger).
Status write_env(const std::string& tmp, const std::vector<Item>& items, size_t map_size, bool* map_full) {
  *map_full = false;
  int rc;
  detail::MdbEnv env = detail::create_env(&rc);
  if (!env) return detail::mdb_error(Errc::kSystem, "mdb_env_create", rc);
  if ((rc = mdb_env_set_mapsize(env.get(), map_size)) != 0)
    return detail::mdb_error(Errc::kSystem, "mdb_env_set_mapsize", rc);
  // NOSYNC: one explicit mdb_env_sync after the commit instead of syncs in it.
  rc = mdb_env_open(env.get(), tmp.c_str(), MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0644);
  if (rc != 0) return detail::mdb_error(Errc::kSystem, "create " + tmp, rc);

  MDB_txn* raw = nullptr;
  if ((rc = mdb_txn_begin(env.get(), nullptr, 0, &raw)) != 0)
    return detail::mdb_error(Errc::kSystem, "mdb_txn_begin " + tmp, rc);
  detail::MdbTxn txn(raw);
  MDB_dbi dbi = 0;
  if ((rc = mdb_dbi_open(txn.get(), nullptr, 0, &dbi)) != 0)
    return detail::mdb_error(Errc::kSystem, "mdb_dbi_open " + tmp, rc);
  for (const auto& it : items) {
    MDB_val k = detail::mdb_val(it.key);
    MDB_val v = detail::mdb_val(it.entry->value);
    rc = mdb_put(txn.get(), dbi, &k, &v, MDB_APPEND);
    if (rc == MDB_MAP_FULL) {
      *map_full = true;
      return detail::mdb_error(Errc::kLimit, "mdb_put " + tmp, rc);
    }
    if (rc != 0) return detail::mdb_error(Errc::kSystem, "mdb_put " + tmp, rc);
  }
  rc = mdb_txn_commit(txn.release());
  if (rc == MDB_MAP_FULL) *map_full = true;
  if (rc != 0) return detail::mdb_error(Errc::kSystem, "mdb_txn_commit " + tmp, rc);
  if ((rc = mdb_env_sync(env.get(), 1)) != 0) return detail::mdb_error(Errc::kSystem, "mdb_env_sync " + tmp, rc);
  return {};
}

Error in_context(const std::string& path, Error e) {
  e.text = lmdb_file(path) + ": " + e.text;
  return e;
}

}  // namespace

Status build_lmdb(const std::string& path, const std::vector<Entry>& entries) {
  size_t max_key = 0;
  {
    int rc;
    detail::MdbEnv probe = detail::create_env(&rc);
    if (!probe) return in_context(path, detail::mdb_error(Errc::kSystem, "mdb_env_create", rc));
    max_key = static_cast<size_t>(mdb_env_get_maxkeysize(probe.get()));
  }
  auto items = prepare(path, entries, max_key);
  if (!items) return items.take_error();

  TempFile tmp(lmdb_file(path) + ".tmp." + std::to_string(::getpid()));
  size_t map_size = estimate_map_size(*items);
  for (int attempt = 1;; ++attempt) {
    bool map_full = false;
    Status st = write_env(tmp.path(), *items, map_size, &map_full);
    if (st) break;
    if (!map_full || attempt == kMaxAttempts) return in_context(path, st.take_error());
    tmp.remove();
    map_size *= 2;
  }
  if (Status st = durable_rename(tmp.path(), lmdb_file(path)); !st) {
    // After a successful rename only the directory fsync failed: the new
    // table is in place, and the temporary name is gone either way.
    return in_context(path, st.take_error());
  }
  tmp.keep();
  return {};
}

}  // namespace tern::table
