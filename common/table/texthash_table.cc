// texthash:/path — the source file read into memory at open, as Postfix's
// texthash: no build step, no file access after open (works in a chroot),
// and a change takes effect when the daemon next starts.

#include <unordered_map>

#include "common/base/fd.h"
#include "common/base/strings.h"
#include "common/table/backends.h"

namespace tern::table::detail {
namespace {

class TexthashTable final : public Table {
 public:
  TexthashTable(std::string name, std::vector<Entry> entries) : name_(std::move(name)), entries_(std::move(entries)) {
    index_.reserve(entries_.size());
    for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].key, i);
  }

  Result<std::string> lookup(std::string_view key) const override {
    if (Status st = check_key(key); !st) return st.take_error();
    auto it = index_.find(to_lower(key));
    if (it == index_.end()) return make_error(Errc::kNotFound, name_ + ": not found");
    return entries_[it->second].value;
  }

  const std::string& name() const override { return name_; }
  Result<std::vector<Entry>> entries() const override { return entries_; }

 private:
  std::string name_;
  std::vector<Entry> entries_;  // file order, for entries()
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

Result<std::unique_ptr<Table>> open_texthash(const std::string& name, const std::string& path) {
  auto text = read_file(path);
  if (!text) {
    Error e = text.take_error();
    e.text = name + ": " + e.text;
    return e;
  }
  // Duplicates keep the first entry; ternmap reports them, a daemon need not.
  auto entries = parse_source(*text, path);
  if (!entries) return entries.take_error();
  return std::unique_ptr<Table>(std::make_unique<TexthashTable>(name, std::move(*entries)));
}

}  // namespace tern::table::detail
