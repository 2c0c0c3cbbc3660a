// static:VALUE, as Postfix's static: table: every lookup finds VALUE (the
// whole text after the colon, spaces included, e.g. "static:REJECT no mail
// here"). It has no file and cannot list entries.

#include "common/table/backends.h"

namespace tern::table::detail {
namespace {

class StaticTable final : public Table {
 public:
  StaticTable(std::string name, std::string value) : name_(std::move(name)), value_(std::move(value)) {}
  Result<std::string> lookup(std::string_view key) const override {
    if (auto s = check_key(key); !s) return s.take_error();
    return value_;
  }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  std::string value_;
};

}  // namespace

Result<std::unique_ptr<Table>> open_static(const std::string& name, const std::string& value) {
  return std::unique_ptr<Table>(std::make_unique<StaticTable>(name, value));
}

}  // namespace tern::table::detail
