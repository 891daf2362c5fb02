"""Prove that every node of a cluster sees the same corpus root before it writes a single clip.

A corpus spread over many machines works only if ``--root`` names one shared filesystem (NFS,
Lustre, CephFS...) mounted at the same path on every node: workers publish files there and the
driver indexes them by relative path. A node that has a *local* directory at that path would
fill it silently. So the driver writes a random token file under the root, and each worker reads
it back before taking work; a node that cannot is named in the error.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from kinetics.errors import CorpusError

TOKEN_PREFIX = ".root-token-"


@dataclass(frozen=True)
class NodeName:
    """How a node is named in messages: its address, host name and Ray node id."""

    address: str
    hostname: str
    node_id: str = ""

    def __str__(self) -> str:
        short_id = f", node {self.node_id[:12]}" if self.node_id else ""
        return f"{self.address} ({self.hostname}{short_id})"

    @classmethod
    def here(cls) -> "NodeName":
        """This process's node (inside a Ray worker: the node it runs on)."""
        try:
            import ray

            context = ray.get_runtime_context()
            return cls(ray.util.get_node_ip_address(), socket.gethostname(), context.get_node_id())
        except Exception:  # outside Ray, or before it is connected: the host name alone
            return cls(socket.gethostname(), socket.gethostname())


class SharedRootError(CorpusError):
    """A worker node does not see the corpus root the driver writes to."""


@dataclass(frozen=True)
class RootToken:
    """A random token written under the root for the length of one run."""

    root: str
    path: str
    value: str

    @classmethod
    def write(cls, root: str | os.PathLike) -> "RootToken":
        """Write a fresh token file directly under ``root`` (hidden: audits and listings skip dot files)."""
        directory = Path(root).expanduser().absolute()
        value = secrets.token_hex(16)
        path = directory / f"{TOKEN_PREFIX}{value[:12]}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(value)
        except OSError as err:
            raise CorpusError(f"cannot write to the corpus root {directory}: {err.strerror or err}") from err
        return cls(root=str(directory), path=str(path), value=value)

    def check(self) -> NodeName:
        """Read the token back on this node; raise SharedRootError naming the node if it differs."""
        node = NodeName.here()
        try:
            seen = Path(self.path).read_text()
        except OSError as err:
            problem = f"cannot read {self.path}: {err.strerror or err}"
        else:
            if seen == self.value:
                return node
            problem = f"{self.path} holds another run's token"
        raise SharedRootError(
            f"node {node} does not see the corpus root {self.root} that the driver writes to ({problem}). "
            "Mount the same shared filesystem at the same path on every node (see docs/scaling.md)."
        )

    def remove(self) -> None:
        Path(self.path).unlink(missing_ok=True)


def check_token(token: RootToken) -> NodeName:
    """Module-level form of ``RootToken.check`` for remote tasks."""
    return token.check()
