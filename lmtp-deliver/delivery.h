#pragma once
// The blocking half of lmtp-deliver: preparing a user's Maildir, checking
// the quota, and writing one copy of the message. Everything here does file
// system work (mkdir, stat, fsync, rename, reading the spooled message):
// the session runs it on the worker pool, never on the loop.
//
// One copy per recipient: tmp/ -> fsync -> new/<base>,S=,W= -> fsync new/
// (store::MessageWriter); the reply for that recipient is 250 only after
// that returned. The maildirsize file is updated after the rename; a crash
// in between leaves usage one message short until the next recalculation,
// never a lost message. No UID lock is taken (DESIGN.md "Mail store").

#include <cstdint>
#include <string>

#include "common/store/maildirsize.h"

namespace tern::lmtp {

// An LMTP reply for one recipient.
struct Reply {
  int code = 0;
  std::string enhanced;
  std::string text;
  bool ok() const { return code >= 200 && code < 300; }
  std::string line() const;  // "250 2.0.0 text" without CRLF
};

// Where a user's mail lives, from the userdb.
struct Mailbox {
  std::string home;          // absolute
  std::string mailbox_base;  // virtual_mailbox_base: missing levels below it are created
  store::QuotaLimit quota;
};

// Creates the home's missing parent directories below mailbox_base (mode
// 0700), the home, the Maildir and its special-use folders. Idempotent.
Status prepare_mailbox(const Mailbox& box);

// RCPT time: with a quota, is the mailbox already full? 452 4.2.2 when it
// is, 451 4.3.0 when it cannot be told; std::nullopt-like ok() reply 250
// otherwise. Prepares the Maildir first (the first delivery creates it).
Reply check_mailbox(const Mailbox& box, const std::string& address);

struct DeliveryRequest {
  Mailbox box;
  std::string address;  // the Delivered-To: value, also used in replies
  std::string folder;   // the detail folder asked for ("" = INBOX)
  // The header lines to prepend (Return-Path:, Delivered-To:), CRLF ended.
  std::string prepend;
  int spool_fd = -1;      // the message as received (CRLF), read with pread
  uint64_t spool_size = 0;
};

struct DeliveryResult {
  Reply reply;
  std::string folder;  // where it was saved (protocol name: "INBOX", "Work")
  std::string file;    // the file name in new/
  uint64_t size = 0;   // bytes stored
  std::string why;     // for the log, when it was not delivered
};

DeliveryResult deliver_copy(const DeliveryRequest& req);

}  // namespace tern::lmtp
