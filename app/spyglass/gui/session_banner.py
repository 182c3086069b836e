"""What the window's session banner says of passwords kept only until Spyglass quits:
no keyring, a locked one, one that refused the password, or one that failed (and the
tooltip for a keyring file nobody chose)."""

from __future__ import annotations

from spyglass.core.credentials.store import CredentialStore

SESSION_ONLY = (
    "No system keyring is available, so the password for {host} is kept only until "
    "Spyglass quits. Set up a keyring (GNOME Keyring, KWallet, …) to keep it."
)

LOCKED_SESSION_ONLY = (
    "{keyring} is locked, so the password for {host} is kept only until Spyglass quits. "
    "Unlock it, then type the password again in Edit Registry… to keep it."
)
"""The banner for a password a locked keyring did not take ({keyring}: "The system
keyring", or the backend by name, as the other sentences name it)."""

REFUSED_SESSION_ONLY = (
    "{keyring} did not take the password for {host} ({detail}), so it is kept only until "
    "Spyglass quits. Type it again in Edit Registry… to keep it."
)
"""The banner for a password the keyring refused (KWallet's "Cancelled by user"): the
keyring is still used, and takes it when it is typed again; no restart."""


def _listed(hosts: list[str]) -> str:
    return hosts[0] if len(hosts) == 1 else ", ".join(hosts[:-1]) + f" and {hosts[-1]}"


def session_only_text(hosts: list[str], store: CredentialStore | None = None) -> str:
    """The banner's sentence for the registries whose passwords last only this session:
    for those a locked keyring did not take, that it is locked; for those one that failed
    did not, that it failed and why; and for the others, that there is no keyring.
    ``store`` tells which (:meth:`CredentialStore.why_not_saved`);
    by default the process's, which is the window's unless it was given another."""
    from spyglass.core.credentials.keyring_store import capitalized

    if store is None:
        from spyglass.core.transports.registry import credential_store

        store = credential_store()
    locked: dict[str, list[str]] = {}  # by keyring
    failed: dict[str, list[str]] = {}  # by the keyring's failure ("The … failed (…)")
    refused: list[str] = []  # sentences: a write refused, the keyring still in use
    missing: list[str] = []
    for host in hosts:
        why = store.why_not_saved(host)
        if why is not None and why.locked:
            locked.setdefault(capitalized(why.keyring), []).append(host)
        elif why is not None and why.refused:
            refused.append(REFUSED_SESSION_ONLY.format(
                keyring=capitalized(why.keyring), host=host, detail=why.detail))
        elif why is not None:
            failed.setdefault(capitalized(why.state), []).append(host)
        else:
            missing.append(host)
    said = list(refused)
    for state, held in failed.items():
        kept = (f"the password for {held[0]} is" if len(held) == 1
                else f"the passwords for {_listed(held)} are")
        said.append(f"{state}, so {kept} kept only until Spyglass quits. Once the keyring "
                    "works, start Spyglass again and type it in Edit Registry… to keep it.")
    for keyring, held in locked.items():
        if len(held) == 1:
            said.append(LOCKED_SESSION_ONLY.format(keyring=keyring, host=held[0]))
        else:
            said.append(f"{keyring} is locked, so the passwords for {_listed(held)} are kept "
                        "only until Spyglass quits. Unlock it, then type them again in Edit "
                        "Registry… to keep them.")
    if len(missing) == 1:
        said.append(SESSION_ONLY.format(host=missing[0]))
    elif missing:
        said.append(f"No system keyring is available, so the passwords for {_listed(missing)} "
                    "are kept only until Spyglass quits. Set up a keyring (GNOME Keyring, "
                    "KWallet, …) to keep them.")
    return " ".join(said)


def passed_over_text(described: str, setting: str) -> str:
    """The banner's tooltip for the unencrypted keyring file not used (see
    :attr:`CredentialStore.passed_over`): what it is, and the setting that chooses it
    (for those who want it; the banner itself stays one plain sentence)."""
    return (f"The only keyring there is {described}, which Spyglass uses only when "
            f"chosen: to use it, set PYTHON_KEYRING_BACKEND={setting}.")

