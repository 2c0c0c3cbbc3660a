#pragma once
// QfileWriter: writes one queue file (format: qfile.h) for the cleanup step,
// streaming, so a message is never held in memory.
//
//   auto w = QfileWriter::create(queue_dir, id, envelope, {.size_limit = N});
//   w->append(chunk) ...          // message bytes: CRLF, not dot-stuffed
//   w->finish();                  // trailer + fsync: BLOCKING, worker pool
//   w->commit();                  // tmp/ID -> incoming/ID + fsync of incoming/
//                                 // (and tmp/): BLOCKING, worker pool
// and only then answer 250. On any failure, abort() (or the destructor)
// removes the file from tmp/; nothing reaches incoming/ before commit(). A
// commit() whose rename succeeded but whose directory fsync failed removes
// the file from incoming/ again: the caller answers 4xx and the client
// retries (should qmgr have taken it in that instant, the cost is a
// duplicate, never a loss).
//
// create() formats the whole envelope into the buffer, so every recipient
// must be known before the first body byte. The file <queue_dir>/tmp/<id>
// is made (O_CREAT|O_EXCL, mode 0600: a leftover with the same name is an
// error, never overwritten) when the buffer first goes out: by append() once
// the message passes kBufferSize, else by finish(), on the worker, so a small
// message costs the event loop no open(2) at all; a failure to make it shows
// there. append() buffers (kBufferSize) and counts; once the message exceeds
// size_limit it returns Errc::kLimit (smtpd answers 552 5.3.4) and from then
// on discards, so the caller can read the rest of DATA and still give the
// reply at its end. Any error is sticky: later calls return it again.
//
// Every write, fsync and rename passes the fault hooks (common/base/fault.h),
// so TERN_FAULT_INJECTION tests can fail each step.
//
// Threads: one thread at a time, but the writer may move between the loop
// and a worker between calls (it holds no thread-local state); the caller
// orders the hand-over (the worker pool's post does).

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/result.h"
#include "common/queue/qfile.h"
#include "common/queue/queue_dirs.h"

namespace tern::queue {

struct WriterOptions {
  uint64_t size_limit = 0;  // message_size_limit in bytes; 0: no limit
  // Where the file is written and where commit() puts it. terndrop writes
  // into maildrop/ itself: tmp_name "maildrop/<id>.tmp", target kMaildrop,
  // mode 0644 (pickup, which is neither the file's owner nor in its group,
  // reads it through the "other" bits; maildrop/ itself is closed to others).
  std::string tmp_name;  // relative to queue_dir; empty: "tmp/<id>"
  Queue target = Queue::kIncoming;
  int mode = 0600;
};

class QfileWriter {
 public:
  static constexpr size_t kBufferSize = 64 * 1024;

  // Checks the envelope (at least one recipient, attribute names, line
  // lengths: kInvalid) and writes it into the buffer; tmp/<id> is made when
  // the buffer first goes out.
  static Result<QfileWriter> create(const std::string& queue_dir, const std::string& id, const Envelope& envelope,
                                    WriterOptions options = {});

  QfileWriter(QfileWriter&& other) noexcept;
  QfileWriter& operator=(QfileWriter&& other) noexcept;
  QfileWriter(const QfileWriter&) = delete;
  QfileWriter& operator=(const QfileWriter&) = delete;
  ~QfileWriter();  // abort() unless committed

  Status append(std::string_view bytes);
  // Flushes, writes the trailer, fsyncs the file and closes it.
  Status finish();
  // publish_rename_shared into incoming/ (fsync of incoming/, shared with
  // the commits of other threads running at the same time: durable.h's
  // group commit; tmp/ is scratch): after this the message is in the queue.
  Status commit();
  // Removes the file (from tmp/; after commit it belongs to the queue and
  // is left alone). Safe to call more than once.
  void abort();

  const std::string& id() const { return id_; }
  const std::string& tmp_path() const { return tmp_path_; }
  // Path in incoming/ (or the target queue; valid after commit()).
  std::string incoming_path() const;
  uint64_t message_size() const { return message_size_; }

 private:
  enum class State { kWriting, kFinished, kCommitted, kFailed, kAborted };
  QfileWriter() = default;
  Status flush();
  Status open_file();
  Status write_out(std::string_view bytes);
  Status fail(Error e);

  std::string queue_dir_;
  std::string id_;
  std::string tmp_path_;
  Fd fd_;
  std::string buffer_;
  uint64_t message_size_ = 0;
  uint64_t size_limit_ = 0;
  Queue target_ = Queue::kIncoming;
  int mode_ = 0600;
  bool created_ = false;  // this writer made tmp_path_ (abort() may remove it)
  State state_ = State::kWriting;
  Error error_;
};

// The envelope part of a queue file (magic line up to and including the EOE
// line) as the writer lays it out; exposed for tests and tools.
Result<std::string> format_envelope(const Envelope& envelope);

}  // namespace tern::queue
