#pragma once
// qmgr's memory of active/: the messages it has taken in and is working on,
// each with what its log line said and the identity (device, inode) of its
// file. Scheduling and delivery (the next step) hang their per-message state
// on these entries.
//
// The file system is the truth; this set follows it. ternsuper(1) may move or
// remove any file in active/ at any moment (hold, requeue, delete:
// common/queue/queue_admin.h): every rename and unlink qmgr makes in active/
// must treat ENOENT as "an administrator took it" and forget the entry, and
// after every scan reconcile() drops the entries whose file is gone or is no
// longer the same file, so a held or deleted message leaves qmgr's memory
// within one scan and never makes it fail. A released or requeued message
// comes back through incoming/, and is taken in as new.
//
// The rule that keeps this safe for the delivery step: qmgr decides what to
// do with a message from the recipient statuses recorded in its file (written
// through its open descriptor, so they land in the file wherever ternsuper
// moved it), and removes or moves active/ID only by name and only while it is
// the file qmgr holds (same device and inode). A held message thus keeps the
// record of what was delivered, and a released one is not delivered twice.
//
// Loop thread only.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tern::qmgr {

struct FileKey {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileKey&) const = default;
};

struct ActiveEntry {
  std::string sender;
  uint64_t size = 0;
  size_t nrcpt = 0;
  FileKey file;
  // Set while qmgr itself renames or unlinks active/ID (the scheduler's
  // finish step): a scan that finds the file gone meanwhile must not take
  // that for the administrator's doing.
  bool pinned = false;
};

class ActiveSet {
 public:
  // A message qmgr moved into active/ (a new one replaces an entry with
  // the same ID: a requeued message taken in again).
  void add(const std::string& id, ActiveEntry entry);
  bool contains(const std::string& id) const { return entries_.count(id) != 0; }
  const ActiveEntry* find(const std::string& id) const;
  size_t size() const { return entries_.size(); }
  // The IDs qmgr knows (handed to a scan on the worker pool).
  std::set<std::string> ids() const;
  // Drops the entry of a message whose file qmgr found gone (ENOENT).
  void forget(const std::string& id) { entries_.erase(id); }
  void pin(const std::string& id, bool on);

  // Follows what active/ holds now (a scan: ID -> file): drops every entry
  // whose file is not there or is another file, and returns their IDs.
  // Pinned entries are kept.
  std::vector<std::string> reconcile(const std::map<std::string, FileKey>& present);

 private:
  std::map<std::string, ActiveEntry> entries_;
};

}  // namespace tern::qmgr
