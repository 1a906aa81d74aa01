#pragma once
// A one-byte message with room for one file descriptor (SCM_RIGHTS over a unix socket): how
// `hearsay share` hands the node an open file, sent by the CLI's client (control_client.cpp)
// and received by the control endpoint (control.cpp). It points into itself: not copyable.

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

namespace hearsay::net {

struct fd_message {
  fd_message() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  fd_message(const fd_message&) = delete;
  fd_message& operator=(const fd_message&) = delete;

  // Sender: the descriptor to hand over with the byte.
  void attach(int fd) {
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  // Receiver, after recvmsg: the descriptor that came, or -1.
  int received() {
    int fd = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
        std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      }
    }
    return fd;
  }

  char byte = 'F';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
};

}  // namespace hearsay::net
