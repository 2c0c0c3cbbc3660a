#include "imapd/folder_cache.h"

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <chrono>

#include "common/store/message_file.h"
#include "tests/unit/support/temp_dir.h"

using namespace tern;
using namespace tern::imapd;

namespace {

std::string make_folder(const test::TempDir& dir) {
  std::string f = dir.path() + "/Maildir";
  for (const char* sub : {"", "/cur", "/new", "/tmp"}) REQUIRE(::mkdir((f + sub).c_str(), 0700) == 0);
  return f;
}

// Runs the loop until `cond` holds (bounded: 5 s).
template <class F>
bool run_until(event::Loop& loop, F cond) {
  for (int i = 0; i < 500 && !cond(); ++i) loop.run_for(std::chrono::milliseconds(10));
  return cond();
}

}  // namespace

TEST_CASE("folder cache: one shared folder per directory, jobs in order, a snapshot after each change",
          "[imapd]") {
  test::TempDir dir;
  std::string folder = make_folder(dir);
  REQUIRE(store::deliver(folder, "Subject: a\r\n\r\nx\r\n"));
  event::Loop loop;
  event::WorkerPool pool(loop, 2);
  pool.start();
  {
    FolderCache cache(loop, pool);
    auto f = cache.get(folder);
    CHECK(cache.get(folder) == f);
    std::vector<int> order;
    f->run([](store::Folder& fo) { REQUIRE(fo.sync()); }, [&] { order.push_back(1); });
    f->run([](store::Folder&) {}, [&] { order.push_back(2); });
    REQUIRE(run_until(loop, [&] { return order.size() == 2; }));
    CHECK(order == std::vector<int>{1, 2});
    auto snap = f->snapshot();
    REQUIRE(snap);
    REQUIRE(snap->messages.size() == 1);
    CHECK(snap->messages[0].uid == 1);
    CHECK(snap->messages[0].in_new);
    // \Recent goes to the first who claims it.
    CHECK(f->claim_recent(1));
    CHECK_FALSE(f->claim_recent(1));

    // A delivery from elsewhere: the inotify watch of a listened folder
    // syncs it and the listener hears of the new snapshot.
    int heard = 0;
    int id = f->listen([&] { heard++; });
    REQUIRE(store::deliver(folder, "Subject: b\r\n\r\ny\r\n"));
    REQUIRE(run_until(loop, [&] { return heard > 0; }));
    CHECK(f->snapshot()->messages.size() == 2);
    CHECK(f->snapshot() != snap);
    f->unlisten(id);
    pool.stop();
    loop.run_pending();
  }
}
