#pragma once
// Shared by the queue file tests: a queue directory tree in a TempDir and
// envelopes that exercise every field.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "common/base/fd.h"
#include "common/queue/qfile.h"
#include "common/queue/qfile_writer.h"
#include "common/queue/queue_dirs.h"
#include "tests/unit/support/temp_dir.h"

namespace tern::queue::test {

inline void make_queue_dirs(const std::string& root) {
  for (Queue q : kAllQueues) {
    std::string p = root + "/" + std::string(queue_name(q));
    REQUIRE(::mkdir(p.c_str(), 0700) == 0);
  }
}

inline constexpr const char* kId = "0J2XQ3V5K7A0AB1C0";
inline constexpr const char* kId2 = "0J2XQ3V5K7B0AB1C0";

// Every field set, with values a hostile client could send.
inline Envelope full_envelope() {
  Envelope e;
  e.arrival = WallTime(std::chrono::microseconds(1718000000123456LL));
  e.sender = "evil\tSENDER x%41\nRCPT delivered@x";
  e.body = BodyType::k8BitMime;
  e.smtputf8 = true;
  e.ret = DsnRet::kHdrs;
  e.envid = "id%with\r\nnewlines";
  e.attributes[std::string(attr::kClientAddress)] = "192.0.2.1";
  e.attributes[std::string(attr::kClientName)] = "mx.example.net";
  e.attributes[std::string(attr::kHeloName)] = "helo\nEOE\nfake";
  e.attributes[std::string(attr::kSaslUsername)] = "alice %25 \t";
  Recipient a;
  a.address = "bob@example.org";
  a.orcpt = "rfc822;Bob@Example.org";
  a.notify = kNotifySuccess | kNotifyFailure;
  a.original = "postmaster@example.org";
  Recipient b;
  b.address = "x\tTO=y@z\tNOTIFY=NEVER@example.org";
  b.notify = kNotifyNever;
  Recipient c;
  c.address = "carol@example.org";
  c.status = RcptStatus::kDelayed;
  e.recipients = {a, b, c};
  return e;
}

inline Envelope minimal_envelope() {
  Envelope e;
  e.arrival = WallTime(std::chrono::seconds(1));
  Recipient r;
  r.address = "root@localhost";
  e.recipients.push_back(r);
  return e;
}

inline std::string slurp(const std::string& path) {
  auto r = read_file(path);
  REQUIRE(r.ok());
  return *r;
}

// Writes, finishes and commits a queue file; returns its path in incoming/.
inline std::string write_queue_file(const std::string& root, const Envelope& env, std::string_view message,
                                    const char* id = kId) {
  auto w = QfileWriter::create(root, id, env);
  REQUIRE(w.ok());
  REQUIRE(w->append(message).ok());
  REQUIRE(w->finish().ok());
  REQUIRE(w->commit().ok());
  return w->incoming_path();
}

}  // namespace tern::queue::test
