#pragma once
// Where a node keeps its things when not told otherwise, after the XDG base directories:
// its state (key, remembered peers, control socket and token) in $XDG_STATE_HOME/hearsay
// (~/.local/state/hearsay), its shared and download folders in $XDG_DATA_HOME/hearsay
// (~/.local/share/hearsay). The CLI finds the control socket the same way.

#include <filesystem>

namespace hearsay::net {

// Empty when neither the XDG variable nor HOME is set.
std::filesystem::path default_state_dir();
std::filesystem::path default_data_dir();

// The control socket and token file in a state folder.
inline std::filesystem::path control_socket_in(const std::filesystem::path& state_dir) { return state_dir / "control.sock"; }
// The node's Ed25519 key (transport/identity.hpp): its node id lives and dies with this file.
inline std::filesystem::path node_key_in(const std::filesystem::path& state_dir) { return state_dir / "node.key"; }
inline std::filesystem::path control_token_in(const std::filesystem::path& state_dir) { return state_dir / "control.token"; }
// The web interface's address ("http://127.0.0.1:8385/", written by the node when it serves
// it) and its access token (0600), in a state folder.
inline std::filesystem::path web_url_in(const std::filesystem::path& state_dir) { return state_dir / "web.url"; }
inline std::filesystem::path web_token_in(const std::filesystem::path& state_dir) { return state_dir / "web.token"; }
}  // namespace hearsay::net
