"""Docker-style random container names: ``adjective_surname`` (surnames of scientists and engineers)."""

from __future__ import annotations

import os
from collections.abc import Sequence

ADJECTIVES = (
    "admiring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold",
    "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "condescending",
    "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy", "eager",
    "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting", "fervent", "festive",
    "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted", "goofy", "gracious",
    "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible", "inspiring", "intelligent",
    "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving", "lucid", "magical", "modest",
    "musing", "mystifying", "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic",
    "peaceful", "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical", "relaxed",
    "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic", "strange", "stupefied",
    "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled", "upbeat", "vibrant", "vigilant",
    "vigorous", "wizardly", "wonderful", "xenodochial", "youthful", "zealous", "zen",
)  # fmt: skip

SURNAMES = (
    "agnesi", "albattani", "allen", "archimedes", "ardinghelli", "babbage", "banach", "bardeen", "bartik",
    "bassi", "bell", "benz", "bhabha", "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta",
    "brattain", "brown", "carson", "cerf", "chandrasekhar", "clarke", "colden", "cori", "cray", "curie",
    "darwin", "davinci", "dijkstra", "dubinsky", "easley", "edison", "einstein", "elion", "engelbart",
    "euclid", "euler", "faraday", "fermat", "fermi", "feynman", "franklin", "galileo", "gates", "goldberg",
    "goldstine", "goodall", "hamilton", "hawking", "heisenberg", "hertz", "hodgkin", "hopper", "hypatia",
    "jackson", "jang", "jennings", "johnson", "joliot", "kalam", "kepler", "khorana", "kilby", "knuth",
    "kowalevski", "lamarr", "lamport", "leakey", "leavitt", "lovelace", "lumiere", "mahavira", "mayer",
    "mccarthy", "mcclintock", "meitner", "mendel", "merkle", "mirzakhani", "montalcini", "moore", "morse",
    "napier", "nash", "newton", "nobel", "noether", "noyce", "pascal", "pasteur", "payne", "perlman",
    "pike", "poincare", "ptolemy", "raman", "ramanujan", "ride", "ritchie", "rosalind", "saha", "sammet",
    "shannon", "shockley", "sinoussi", "stonebraker", "swanson", "tesla", "thompson", "torvalds", "turing",
    "varahamihira", "visvesvaraya", "wescoff", "wilbur", "williams", "wilson", "wing", "wozniak", "wright",
    "yalow", "yonath",
)  # fmt: skip


def random_name(retry: int = 0) -> str:
    name = f"{_pick(ADJECTIVES)}_{_pick(SURNAMES)}"
    if retry > 0:
        name += _pick("0123456789")
    return name


def _pick(seq: Sequence[str]) -> str:
    """A random element (os.urandom: the secrets module costs ms to import; a tiny modulo bias is fine here)."""
    return seq[int.from_bytes(os.urandom(4), "little") % len(seq)]
