#include "durable/namespace_registry.hpp"

#include <algorithm>

#include <openssl/evp.h>

#include "durable/errc.hpp"
#include "durable/hex.hpp"
#include "registry_format.hpp"
#include "strict_json.hpp"

namespace durable {

// -- storage format -----------------------------------------------------------

namespace detail {

namespace {

constexpr uint8_t record_version = 1;

void put_field(std::string& out, std::string_view x) {
  out += static_cast<char>((x.size() >> 8) & 0xFF);
  out += static_cast<char>(x.size() & 0xFF);
  out.append(x);
}

bool get_field(std::string_view& in, std::string& out) {
  if (in.size() < 2)
    return false;
  size_t n = (static_cast<size_t>(static_cast<uint8_t>(in[0])) << 8) |
             static_cast<uint8_t>(in[1]);
  if (in.size() < 2 + n)
    return false;
  out.assign(in.substr(2, n));
  in.remove_prefix(2 + n);
  return true;
}

} // namespace

void put_be64(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((x >> shift) & 0xFF);
}

uint64_t get_be64(std::string_view in) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i)
    x = (x << 8) | static_cast<uint8_t>(in[i]);
  return x;
}

caf::error corrupted(std::string_view what, std::string_view key) {
  std::string text = "namespace registry: malformed ";
  text += what;
  text += " \"";
  text += key;
  text += '"';
  return make_error(errc::storage_failure, std::move(text));
}

std::string encode_record(const namespace_record& x) {
  std::string out;
  out += static_cast<char>(record_version);
  put_field(out, x.id);
  put_field(out, x.script);
  put_field(out, x.class_name);
  return out;
}

caf::expected<namespace_record> decode_record(std::string_view name,
                                              std::string_view value) {
  namespace_record result;
  result.name = name;
  if (value.empty() || static_cast<uint8_t>(value[0]) != record_version)
    return corrupted("record", name);
  value.remove_prefix(1);
  if (!get_field(value, result.id) || !get_field(value, result.script) ||
      !get_field(value, result.class_name) || !value.empty())
    return corrupted("record", name);
  return result;
}

std::string encode_applied(uint64_t sequence, int64_t time_ms) {
  std::string out;
  put_be64(out, sequence);
  put_be64(out, static_cast<uint64_t>(time_ms));
  return out;
}

caf::expected<applied_migration> decode_applied(std::string_view tag,
                                                std::string_view value) {
  if (value.size() != 16)
    return corrupted("migration entry", tag);
  applied_migration result;
  result.tag = tag;
  result.sequence = get_be64(value);
  result.time_ms = static_cast<int64_t>(get_be64(value.substr(8)));
  return result;
}

} // namespace detail

// -- JSON ---------------------------------------------------------------------

namespace {

nlohmann::ordered_json record_json(const namespace_record& x) {
  return {{"id", x.id},
          {"name", x.name},
          {"script", x.script},
          {"class", x.class_name}};
}

} // namespace

std::string to_json(const namespace_record& x) {
  return detail::dump_json(record_json(x));
}

std::string to_json(const namespace_list& x) {
  auto result = nlohmann::ordered_json::array();
  for (auto& rec : x.result)
    result.push_back(record_json(rec));
  auto& info = x.result_info;
  nlohmann::ordered_json doc{{"result", std::move(result)},
                             {"result_info",
                              {{"page", info.page},
                               {"per_page", info.per_page},
                               {"count", info.count},
                               {"total_count", info.total_count}}},
                             {"success", true},
                             {"errors", nlohmann::ordered_json::array()},
                             {"messages", nlohmann::ordered_json::array()}};
  return detail::dump_json(doc);
}

std::string to_json_error(const caf::error& err) {
  nlohmann::ordered_json doc{{"result", nullptr},
                             {"success", false},
                             {"errors",
                              {{{"code", static_cast<int>(err.code())},
                                {"message", message_of(err)}}}},
                             {"messages", nlohmann::ordered_json::array()}};
  return detail::dump_json(doc);
}

// -- constructors -------------------------------------------------------------

namespace_registry::namespace_registry(std::shared_ptr<storage_engine> engine)
    : engine_(std::move(engine)) {
  // nop
}

// -- reading ------------------------------------------------------------------

caf::expected<namespace_list> namespace_registry::list(int64_t page,
                                                       int64_t per_page) const {
  if (page < 1)
    return make_error(errc::invalid_argument,
                      "page must be at least 1, got " + std::to_string(page));
  if (per_page < 1 || per_page > max_per_page)
    return make_error(errc::invalid_argument,
                      "per_page must be between 1 and 100, got " +
                          std::to_string(per_page));
  auto records = all();
  if (!records)
    return std::move(records.error());
  namespace_list result;
  auto total = static_cast<int64_t>(records->size());
  result.result_info.page = page;
  result.result_info.per_page = per_page;
  result.result_info.total_count = total;
  // page - 1 < total / per_page <= 2^63 / 1: no overflow in the product.
  if (page - 1 < (total + per_page - 1) / per_page) {
    auto first = (page - 1) * per_page;
    auto last = std::min(total, first + per_page);
    result.result.assign(records->begin() + first, records->begin() + last);
  }
  result.result_info.count = static_cast<int64_t>(result.result.size());
  return result;
}

caf::expected<std::vector<namespace_record>> namespace_registry::all() const {
  auto raw = engine_->meta_scan(jurisdiction::none, detail::class_prefix);
  if (!raw)
    return std::move(raw.error());
  std::vector<namespace_record> result;
  result.reserve(raw->size());
  for (auto& [key, value] : *raw) {
    auto rec = detail::decode_record(
        std::string_view{key}.substr(detail::class_prefix.size()), value);
    if (!rec)
      return std::move(rec.error());
    result.push_back(std::move(*rec));
  }
  return result;
}

caf::expected<std::optional<namespace_record>>
namespace_registry::find(std::string_view name) const {
  std::string key{detail::class_prefix};
  key += name;
  auto raw = engine_->meta_get(jurisdiction::none, key);
  if (!raw)
    return std::move(raw.error());
  if (!*raw)
    return std::optional<namespace_record>{};
  auto rec = detail::decode_record(name, **raw);
  if (!rec)
    return std::move(rec.error());
  return std::optional<namespace_record>{std::move(*rec)};
}

caf::expected<std::optional<namespace_record>>
namespace_registry::find_by_id(std::string_view id) const {
  auto records = all();
  if (!records)
    return std::move(records.error());
  for (auto& rec : *records)
    if (rec.id == id)
      return std::optional<namespace_record>{std::move(rec)};
  return std::optional<namespace_record>{};
}

caf::expected<std::vector<applied_migration>>
namespace_registry::applied() const {
  auto raw = engine_->meta_scan(jurisdiction::none, detail::migration_prefix);
  if (!raw)
    return std::move(raw.error());
  std::vector<applied_migration> result;
  for (auto& [key, value] : *raw) {
    auto entry = detail::decode_applied(
        std::string_view{key}.substr(detail::migration_prefix.size()), value);
    if (!entry)
      return std::move(entry.error());
    result.push_back(std::move(*entry));
  }
  std::sort(result.begin(), result.end(),
            [](auto& x, auto& y) { return x.sequence < y.sequence; });
  return result;
}

caf::expected<uint64_t> namespace_registry::log_position() const {
  auto raw = engine_->meta_get(jurisdiction::none, detail::log_position_key);
  if (!raw)
    return std::move(raw.error());
  if (!*raw)
    return uint64_t{0};
  if ((*raw)->size() != 8)
    return detail::corrupted("log position", detail::log_position_key);
  return detail::get_be64(**raw);
}

// -- writing ------------------------------------------------------------------

caf::error namespace_registry::set_log_position(uint64_t position) {
  std::string value;
  detail::put_be64(value, position);
  return engine_->update(jurisdiction::none, [&](meta_transaction& tx) {
    return tx.put(std::string{detail::log_position_key}, value);
  });
}

caf::expected<namespace_record>
namespace_registry::ensure(std::string_view name, std::string_view script) {
  if (auto err = check_name(name, "a namespace name"))
    return err;
  if (!script.empty())
    if (auto err = check_name(script, "a script name"))
      return err;
  if (auto found = find(name); !found || *found) {
    if (!found)
      return std::move(found.error());
    return std::move(**found);
  }
  std::lock_guard<std::mutex> guard{write_mtx_};
  namespace_record rec;
  rec.id = derived_id(name);
  rec.name = name;
  rec.script = script;
  rec.class_name = name;
  namespace_record result;
  auto err = engine_->update(jurisdiction::none, [&](meta_transaction& tx) {
    std::string key{detail::class_prefix};
    key += name;
    auto raw = tx.get(key);
    if (!raw)
      return std::move(raw.error());
    if (*raw) { // recorded meanwhile
      auto found = detail::decode_record(name, **raw);
      if (!found)
        return std::move(found.error());
      result = std::move(*found);
      return caf::error{};
    }
    // A deleted class of this name whose data is not all dropped yet: a new
    // record would give the same ID and see what is left.
    std::string dropping{detail::dropping_prefix};
    dropping += rec.id;
    auto pending = tx.get(dropping);
    if (!pending)
      return std::move(pending.error());
    if (*pending)
      return make_error(errc::unavailable,
                        "class \"" + std::string{name} +
                            "\" was deleted and its data is still being "
                            "removed: open the deployment or run "
                            "`durable-admin migrate` to finish");
    auto others = tx.scan(detail::class_prefix);
    if (!others)
      return std::move(others.error());
    for (auto& [other_key, value] : *others) {
      auto other = detail::decode_record(
          std::string_view{other_key}.substr(detail::class_prefix.size()),
          value);
      if (!other)
        return std::move(other.error());
      if (other->id == rec.id)
        return make_error(errc::invalid_argument,
                          "class \"" + std::string{name} +
                              "\" has no namespace record and the ID derived "
                              "from its name belongs to class \"" +
                              other->name + "\" (renamed from it): create \"" +
                              std::string{name} +
                              "\" with a new_classes migration");
    }
    result = rec;
    return tx.put(key, detail::encode_record(rec));
  });
  if (err)
    return err;
  return result;
}

caf::expected<migration_result>
namespace_registry::apply(const std::vector<migration>& migrations,
                          const std::vector<std::string>& bound_ids) {
  std::lock_guard<std::mutex> guard{write_mtx_};
  return apply_locked(migrations, bound_ids);
}

// -- utilities ----------------------------------------------------------------

std::string namespace_registry::derived_id(std::string_view name) {
  static constexpr char label[] = "caf-durable/namespace-id";
  std::string input{label, sizeof(label)}; // with the 0x00 separator
  input += name;
  uint8_t md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), md, &size, EVP_sha256(),
                 nullptr) != 1 ||
      size < 16)
    // SHA-256 does not fail on a working OpenSSL; never continue with a
    // made-up ID.
    std::abort();
  return to_hex(md, 16);
}

caf::error namespace_registry::check_name(std::string_view x,
                                          const char* what) {
  if (x.empty() || x.size() > max_name_size)
    return make_error(errc::invalid_argument,
                      std::string{what} + " must have 1 to 256 bytes");
  for (auto c : x)
    if (static_cast<uint8_t>(c) < 0x20 || c == 0x7F)
      return make_error(errc::invalid_argument,
                        std::string{what} +
                            " must not contain control characters");
  return caf::none;
}

} // namespace durable
