#include "durable/websocket_directory.hpp"

#include <algorithm>
#include <random>

#include "durable/errc.hpp"

namespace durable {

websocket_endpoint::~websocket_endpoint() {
  // nop
}

bool websocket_info::has_tag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

websocket_directory& websocket_directory::instance() {
  static websocket_directory dir;
  return dir;
}

websocket_directory::websocket_directory() {
  std::random_device rd;
  token_ = (uint64_t{rd()} << 32) | rd() | 1;
}

websocket_id websocket_directory::next_id() noexcept {
  std::lock_guard<std::mutex> guard{mtx_};
  return ++next_id_;
}

caf::error websocket_directory::add(const object_id& object,
                                    websocket_info info,
                                    std::shared_ptr<websocket_endpoint> ep,
                                    size_t max_per_object) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& recs = objects_[object];
  if (recs.size() >= max_per_object) {
    if (recs.empty())
      objects_.erase(object);
    return make_error(errc::overloaded,
                      "too many WebSockets on this Durable Object (at most " +
                          std::to_string(max_per_object) + ")");
  }
  owners_.emplace(info.id, object);
  recs.push_back(record{std::move(info), std::move(ep)});
  return caf::none;
}

bool websocket_directory::remove(websocket_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = owners_.find(id);
  if (i == owners_.end())
    return false;
  auto j = objects_.find(i->second);
  owners_.erase(i);
  if (j == objects_.end())
    return false;
  auto& recs = j->second;
  recs.erase(std::remove_if(recs.begin(), recs.end(),
                            [id](auto& rec) { return rec.info.id == id; }),
             recs.end());
  if (recs.empty())
    objects_.erase(j);
  return true;
}

size_t websocket_directory::count(const object_id& object) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = objects_.find(object);
  return i == objects_.end() ? 0 : i->second.size();
}

size_t websocket_directory::total() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return owners_.size();
}

std::vector<websocket_info>
websocket_directory::list(const object_id& object, std::string_view tag) const {
  std::vector<websocket_info> result;
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = objects_.find(object); i != objects_.end())
    for (auto& rec : i->second)
      if (tag.empty() || rec.info.has_tag(tag))
        result.push_back(rec.info);
  return result;
}

std::vector<std::shared_ptr<websocket_endpoint>>
websocket_directory::endpoints(const object_id& object, std::string_view tag,
                               websocket_id except) const {
  std::vector<std::shared_ptr<websocket_endpoint>> result;
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = objects_.find(object); i != objects_.end())
    for (auto& rec : i->second)
      if (rec.info.id != except && (tag.empty() || rec.info.has_tag(tag)))
        result.push_back(rec.ep);
  return result;
}

const websocket_directory::record*
websocket_directory::find(const object_id& object, websocket_id id) const {
  auto i = objects_.find(object);
  if (i == objects_.end())
    return nullptr;
  for (auto& rec : i->second)
    if (rec.info.id == id)
      return &rec;
  return nullptr;
}

std::shared_ptr<websocket_endpoint>
websocket_directory::endpoint(const object_id& object, websocket_id id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto rec = find(object, id);
  return rec != nullptr ? rec->ep : nullptr;
}

caf::error websocket_directory::set_attachment(const object_id& object,
                                               websocket_id id,
                                               std::string bytes) {
  if (bytes.size() > max_websocket_attachment)
    return make_error(errc::invalid_argument,
                      "WebSocket attachments cannot be larger than " +
                          std::to_string(max_websocket_attachment) +
                          " bytes. An attachment of size " +
                          std::to_string(bytes.size()) + " was provided.");
  std::lock_guard<std::mutex> guard{mtx_};
  auto rec = const_cast<record*>(find(object, id));
  if (rec == nullptr)
    return make_error(errc::invalid_argument, "no open WebSocket " +
                                                  std::to_string(id) +
                                                  " on this Durable Object");
  rec->info.attachment = std::move(bytes);
  return caf::none;
}

} // namespace durable
