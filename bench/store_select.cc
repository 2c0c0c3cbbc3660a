// store_select: what a SELECT and a FETCH 1:* (FLAGS UID) cost in Tern's
// store alone, for bench/imap-select while imapd cannot SELECT yet.
//
//   store_select FOLDER_DIR [ROUNDS]
//
// Opens the folder ROUNDS times (default 2), each time with a new Folder
// object as a new imapd session would (the first round of a fresh process
// on a fresh folder builds the UID list and the index), and prints per
// round the milliseconds of Folder::sync() (wall clock and CPU time) and
// of formatting every message's "* n FETCH (FLAGS (...) UID n)" line:
//   round=1 messages=100000 sync_ms=812.3 sync_cpu_ms=790.2 fetch_ms=41.0 bytes=4072790
// Not installed; built with the tree so it cannot rot.

#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/base/strings.h"
#include "common/store/flags.h"
#include "common/store/folder.h"

namespace {

double cpu_ms() {
  struct rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

double now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern;
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: store_select FOLDER_DIR [ROUNDS]\n");
    return 64;
  }
  const int rounds = argc == 3 ? std::atoi(argv[2]) : 2;
  for (int round = 1; round <= rounds; ++round) {
    store::Folder folder(argv[1]);
    const double c0 = cpu_ms();
    const double t0 = now_ms();
    if (Status st = folder.sync(); !st) {
      std::fprintf(stderr, "store_select: %s\n", st.error().text.c_str());
      return 1;
    }
    const double t1 = now_ms();
    const double c1 = cpu_ms();
    std::string out;
    size_t seq = 0;
    for (const store::Message& m : folder.messages()) {
      std::string flags;
      for (store::SystemFlag f : {store::kFlagSeen, store::kFlagAnswered, store::kFlagFlagged, store::kFlagDeleted,
                                  store::kFlagDraft})
        if (m.flags.has(f)) flags += (flags.empty() ? "" : " ") + std::string(store::system_flag_name(f));
      for (const std::string& k : folder.keywords_of(m)) flags += (flags.empty() ? "" : " ") + k;
      out += strf("* %zu FETCH (FLAGS (%s) UID %u)\r\n", ++seq, flags.c_str(), m.uid);
    }
    const double t2 = now_ms();
    std::printf("round=%d messages=%zu sync_ms=%.1f sync_cpu_ms=%.1f fetch_ms=%.1f bytes=%zu\n", round,
                folder.messages().size(), t1 - t0, c1 - c0, t2 - t1, out.size());
  }
  return 0;
}
