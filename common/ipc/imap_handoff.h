#pragma once
// The message of the imap-handoff protocol (imap-login -> imapd on
// login/imap) and the descriptor passing it rides on. The protocol itself is
// specified where it is served: imapd/handoff.h.

#include <optional>
#include <string>
#include <string_view>

#include "common/base/fd.h"
#include "common/base/result.h"

namespace tern::ipc {

inline constexpr std::string_view kHandoffProto = "imap-handoff";
inline constexpr int kHandoffMajor = 1;
inline constexpr int kHandoffMinor = 0;
// Bytes the client pipelined after its login command that imap-login
// forwards; it reads no more than this before handing the client over.
inline constexpr size_t kHandoffMaxPending = 16384;
// One HANDOFF line, escaped (pending may triple in size).
inline constexpr size_t kHandoffMaxLine = 4 * kHandoffMaxPending + 8192;

struct HandoffRequest {
  std::string user;        // the login authd answered OK with
  unsigned auth_id = 0;    // the AUTH id on imap-login's auth connection
  std::string cookie_hex;  // that connection's COOKIE
  unsigned cpid = 0;       // the CPID imap-login sent on it
  std::string rip, lip;
  bool secured = false;
  std::optional<std::string> tag;  // the LOGIN/AUTHENTICATE tag: imapd answers "<tag> OK"
  std::string pending;

  // "HANDOFF\t...\n"
  std::string format() const;
  static Result<HandoffRequest> parse(std::string_view line);
};

// A non-blocking, close-on-exec stream connection to a unix socket. A
// listener whose backlog is full says EAGAIN: an error like any other here.
Result<Fd> connect_unix(const std::string& path);

// sendmsg() of `data` with `fd` attached (SCM_RIGHTS) to its first byte;
// the bytes sent (possibly fewer than data.size(): send the rest plainly),
// or an error. MSG_NOSIGNAL; a non-blocking socket may say EAGAIN.
Result<size_t> send_with_fd(int sock, std::string_view data, int fd);

// recvmsg() of up to `size` bytes; a descriptor that came with them goes to
// *received (close-on-exec), at most one: more than one, or a truncated
// control message, is an error (the extras are closed). 0 bytes: EOF.
Result<size_t> recv_with_fd(int sock, char* buf, size_t size, Fd* received);

}  // namespace tern::ipc
