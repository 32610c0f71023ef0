// rendered_file.hpp — one configuration file snmctl renders: where it goes,
// its content, and its mode. Renderers return lists of these; `apply`
// stages them with the snapshots so everything lands together.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace snm::ctl {

struct RenderedFile {
    RenderedFile(std::string path_, std::string content_, mode_t mode_ = 0644, std::string group_ = {})
        : path(std::move(path_)), content(std::move(content_)), mode(mode_), group(std::move(group_)) {}
    std::string path;
    std::string content;
    mode_t mode = 0644;
    std::string group;  // "" = root's; else the group that alone may read it with the owner
};

using RenderedFiles = std::vector<RenderedFile>;

// The header every rendered file starts with (`comment` is "#" for all the
// formats snm renders).
std::string rendered_header(const std::string& what, const std::string& source);

}  // namespace snm::ctl
