"""Accounts, scopes, argon2 hashing, token shape and the role matrix (pure)."""

from __future__ import annotations

import pytest

from services.dashboard.accounts import (
    CENTRAL,
    MATRIX,
    PASSWORD_ROLES,
    AccountError,
    Permission,
    Principal,
    Role,
    check_password,
    check_scope,
    check_username,
    digest,
    new_token,
)

from .conftest import CHEAP, OFFICE


class TestScope:
    def test_an_office_officer_needs_a_known_office(self) -> None:
        assert check_scope(Role.OFFICE_OFFICER, OFFICE) == OFFICE
        with pytest.raises(AccountError, match="needs the office code"):
            check_scope(Role.OFFICE_OFFICER, None)
        with pytest.raises(AccountError, match="unknown office"):
            check_scope(Role.OFFICE_OFFICER, "kbri-atlantis")

    def test_an_api_client_is_central_or_one_office(self) -> None:
        assert check_scope(Role.API_CLIENT, None) is None
        assert check_scope(Role.API_CLIENT, CENTRAL) is None
        assert check_scope(Role.API_CLIENT, OFFICE) == OFFICE

    @pytest.mark.parametrize("role", [Role.CENTRAL_DESK, Role.AUDITOR, Role.OPERATOR])
    def test_central_roles_take_no_office(self, role: Role) -> None:
        assert check_scope(role, None) is None
        with pytest.raises(AccountError, match="sees every office"):
            check_scope(role, OFFICE)


class TestNamesAndPasswords:
    @pytest.mark.parametrize("name", ["desk", "a.b-c_9", "x" * 48])
    def test_good_usernames(self, name: str) -> None:
        assert check_username(name) == name

    @pytest.mark.parametrize("name", ["", "a", "Desk", "x" * 49, "a b", "-desk", "desk\n"])
    def test_bad_usernames(self, name: str) -> None:
        with pytest.raises(AccountError):
            check_username(name)

    def test_a_password_has_12_to_1024_characters(self) -> None:
        assert check_password("x" * 12)
        for bad in ("x" * 11, "x" * 1025):
            with pytest.raises(AccountError) as caught:
                check_password(bad)
            assert bad not in str(caught.value)

    def test_argon2id_hashes_are_salted_and_verified(self) -> None:
        first, second = CHEAP.hash("a long enough password"), CHEAP.hash("a long enough password")
        assert first.startswith("$argon2id$")
        assert first != second
        assert CHEAP.verify(first, "a long enough password")
        assert not CHEAP.verify(first, "a long enough passwore")
        assert not CHEAP.verify(None, "a long enough password")
        assert not CHEAP.verify("not a hash", "a long enough password")

    def test_a_hash_of_other_parameters_needs_rehashing(self) -> None:
        from services.dashboard.accounts import Passwords

        stronger = Passwords(time_cost=2, memory_kib=16, parallelism=1)
        assert stronger.needs_rehash(CHEAP.hash("a long enough password"))
        assert not CHEAP.needs_rehash(CHEAP.hash("a long enough password"))


class TestTokens:
    def test_tokens_are_random_prefixed_and_carry_their_id(self) -> None:
        (id1, secret1), (id2, secret2) = new_token(), new_token()
        assert secret1.startswith(f"bus_{id1}_")
        assert id1 != id2
        assert secret1 != secret2
        assert len(secret1) > 40

    def test_only_the_digest_is_kept(self) -> None:
        _, secret = new_token()
        assert len(digest(secret)) == 64
        assert secret not in digest(secret)


class TestMatrix:
    def test_every_permission_is_granted_to_some_role(self) -> None:
        assert set(MATRIX) == set(Permission)
        assert all(MATRIX.values())

    def test_the_matrix(self) -> None:
        """The matrix as the issue states it: desk sees every office's data, an officer their office's, the
        auditor the access logs only, the operator the bus's health and dead letters only.
        """
        granted = {role: {p for p, roles in MATRIX.items() if role in roles} for role in Role}
        people = {Permission.REGISTRY_COUNTS, Permission.CITIZEN_LOOKUP, Permission.CASES}
        bus = {Permission.DEADLETTER_FIGURES, Permission.BUS_HEALTH}
        assert granted[Role.CENTRAL_DESK] == {Permission.OWN_ACCOUNT, *people, *bus}
        assert granted[Role.OFFICE_OFFICER] == {Permission.OWN_ACCOUNT, *people}
        assert granted[Role.API_CLIENT] == {Permission.OWN_ACCOUNT, *people}
        assert granted[Role.AUDITOR] == {Permission.OWN_ACCOUNT, Permission.ACCESS_LOG}
        assert granted[Role.OPERATOR] == {Permission.OWN_ACCOUNT, *bus}

    def test_only_people_have_passwords(self) -> None:
        assert Role.API_CLIENT not in PASSWORD_ROLES

    def test_a_principal_sees_its_scope(self) -> None:
        officer = Principal("id", "officer", Role.OFFICE_OFFICER, OFFICE, "session")
        desk = Principal("id", "desk", Role.CENTRAL_DESK, None, "session")
        assert officer.sees_office(OFFICE)
        assert not officer.sees_office("kbri-kuala-lumpur")
        assert desk.sees_office("kbri-kuala-lumpur")
        assert (officer.scope, desk.scope) == (OFFICE, CENTRAL)
        assert officer.permissions() == [p for p in MATRIX if Role.OFFICE_OFFICER in MATRIX[p]]
