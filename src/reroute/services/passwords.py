"""What a new password must be (NIST SP 800-63B): long enough, and not one that attackers try
first. zxcvbn ships the list of the 30,000 most common passwords, with English words and names,
and finds them also inside a password, reversed, in l33t, as keyboard runs, repeats or
sequences; a password it expects to fall within about 10^8 guesses is refused."""

from __future__ import annotations

import threading

MIN_LENGTH = 12
#: What the sign-in form accepts; a longer one could never be typed there.
MAX_LENGTH = 1000
#: zxcvbn's scale runs 0-4; from 3 on, a password is not expected within 10^8 guesses.
MIN_SCORE = 3
#: zxcvbn looks at this many characters at most (its own limit); the rest only adds strength.
_ESTIMATED = 72
#: zxcvbn keeps the words of the call in a module-wide dictionary: one estimate at a time.
_one_at_a_time = threading.Lock()


def problem(password: str, *known_words: str) -> str | None:
    """What is wrong with `password` as a new password, said so that a person can fix it, or
    None. `known_words` (the email, say) count as common too."""
    if "\x00" in password:
        return "Leave out the NUL character: it cannot be typed when signing in."
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    from zxcvbn import zxcvbn  # loaded on first use: its lists take a moment to read

    words = [w.lower() for w in known_words if w]
    with _one_at_a_time:
        estimate = zxcvbn(password[:_ESTIMATED], user_inputs=[*words, "reroute"])
    if int(estimate["score"]) >= MIN_SCORE:
        return None
    warning = str(estimate["feedback"].get("warning") or "").strip()
    because = f" {warning}" if warning else ""
    return (
        "Choose a password that is harder to guess: this one is, or is built from, a commonly "
        f"used password, word or pattern.{because} A few unrelated words make a good one."
    )
