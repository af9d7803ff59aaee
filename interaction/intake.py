"""What other packages call to hand a message to the desk (wechat's callback, above this package)."""

from __future__ import annotations

from interaction.services import receive_follower_message

__all__ = ["receive_follower_message"]
