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

TEST_CASE("folder cache: our own STORE and EXPUNGE leave the folder proven unchanged, anyone else's change does not",
          "[imapd]") {
  test::TempDir dir;
  std::string folder = make_folder(dir);
  auto a = store::deliver(folder, "Subject: a\r\n\r\nx\r\n");
  REQUIRE(a);
  REQUIRE(store::deliver(folder, "Subject: b\r\n\r\ny\r\n"));
  event::Loop loop;
  event::WorkerPool pool(loop, 2);
  pool.start();
  {
    FolderCache cache(loop, pool);
    auto f = cache.get(folder);
    int heard = 0;
    int id = f->listen([&] { heard++; });
    // Runs one job to its end; returns whether it made a real sync.
    auto job = [&](std::function<void(store::Folder&)> fn) {
      bool finished = false;
      auto synced = std::make_shared<bool>(false);
      f->run(
          [fn, synced](store::Folder& fo) {
            const uint64_t before = fo.sync_count();
            fn(fo);
            *synced = fo.sync_count() != before;
          },
          [&] { finished = true; });
      REQUIRE(run_until(loop, [&] { return finished; }));
      return *synced;
    };
    SharedFolder* raw = f.get();
    auto sync_if_changed = [raw](store::Folder& fo) { REQUIRE(raw->sync_if_changed(fo)); };
    CHECK(job(sync_if_changed));  // the first sync is real
    // Creating the UID list is not journalled: one more sync, then none.
    (void)job(sync_if_changed);
    CHECK_FALSE(job(sync_if_changed));
    store::FlagChange seen{1, store::FlagOp::kAdd, store::kFlagSeen, 0};
    CHECK_FALSE(job([&](store::Folder& fo) { REQUIRE(fo.store(std::span(&seen, 1))); }));
    // Longer than the settle time: no sync of our own renames either.
    loop.run_for(std::chrono::milliseconds(60));
    CHECK_FALSE(job(sync_if_changed));
    CHECK(f->snapshot()->messages[0].system == store::kFlagSeen);
    store::FlagChange deleted{2, store::FlagOp::kAdd, store::kFlagDeleted, 0};
    CHECK_FALSE(job([&](store::Folder& fo) {
      REQUIRE(fo.store(std::span(&deleted, 1)));
      const uint32_t two = 2;
      REQUIRE(fo.expunge(std::span(&two, 1)));
    }));
    CHECK_FALSE(job(sync_if_changed));
    REQUIRE(f->snapshot()->messages.size() == 1);

    // Another program (another imapd, a Maildir tool) renames the file.
    const std::string from = folder + "/cur/" + *a + ":2,S";
    REQUIRE(::rename(from.c_str(), (folder + "/cur/" + *a + ":2,FS").c_str()) == 0);
    const int before = heard;
    REQUIRE(run_until(loop, [&] { return heard > before; }));  // the settle sync saw it
    CHECK(f->snapshot()->messages[0].system == (store::kFlagSeen | store::kFlagFlagged));
    CHECK_FALSE(job(sync_if_changed));

    // A foreign change made while our own job runs still counts.
    CHECK_FALSE(job([&](store::Folder& fo) {
      REQUIRE(fo.store(std::span(&seen, 1)));  // no change: nothing renamed
      REQUIRE(store::deliver(folder, "Subject: c\r\n\r\nz\r\n"));
    }));
    CHECK(job(sync_if_changed));
    CHECK(f->snapshot()->messages.size() == 2);
    f->unlisten(id);
    pool.stop();
    loop.run_pending();
  }
}
