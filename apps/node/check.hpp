#pragma once
// hearsay-node --check: whether a node with these settings could start here and now, beyond
// the settings being valid: its folders usable, its endpoints free, its seeds known.

#include <string>
#include <vector>

#include "apps/node/settings.hpp"

namespace hearsay::app {

// The problems found, each naming the key and its path or address ("shared_dir /srv/x: does
// not exist"); none when the node could start. s has its paths resolved (resolve_paths).
// It leaves nothing behind: a folder it had to create to test is removed, a port it bound is
// released.
//   state_dir, download_dir  a writable folder, or one that can be created;
//   shared_dir               an existing readable folder (the default one may be created);
//   listen, metrics,         can be bound (the web interface's when it is on); control: a
//   web.listen               TCP endpoint can be bound, a unix
//                            socket's folder is usable and no node answers on the socket;
//   seeds                    every name resolves.
std::vector<std::string> check_ready(const node_settings& s);

}  // namespace hearsay::app
