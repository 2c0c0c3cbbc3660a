#pragma once
// sendmail's end of the submission stream (common/queue/maildrop.h): runs
// terndrop from command_directory with a pipe on its standard input and
// writes the envelope, the message in DATA records, and END.

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/result.h"
#include "common/queue/maildrop.h"

namespace tern::sendmail {

class Drop {
 public:
  // config_dir: passed as "-c DIR" when not empty.
  static Result<Drop> start(const std::string& terndrop, const std::string& config_dir,
                            const queue::Submission& envelope);
  Drop(Drop&& other) noexcept;
  Drop& operator=(Drop&&) = delete;
  ~Drop();  // abort() unless finished

  // Message bytes (CRLF line ends); sent in DATA records of kMaxChunk.
  void write(std::string_view bytes);
  uint64_t size() const { return size_; }
  // Sends the rest and END, closes the pipe and waits: terndrop's exit status
  // (0 queued; an EX_ code, after terndrop said why on standard error).
  int finish();
  // Stops terndrop (SIGTERM: it removes its unfinished file) and waits.
  void abort();

 private:
  Drop() = default;
  void send(std::string_view bytes);
  int wait();

  pid_t pid_ = -1;
  Fd pipe_;
  std::string buf_;
  uint64_t size_ = 0;
  bool broken_ = false;  // terndrop stopped reading: it will say why
};

}  // namespace tern::sendmail
