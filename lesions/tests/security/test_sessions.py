"""A low finding: ``logout-all`` left the user's browser sessions signed in."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lesions.tests.api.conftest import client_with_token, token_for
from lesions.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def test_logout_all_ends_the_browser_sessions_too(clinician, other_clinician):
    browser, theirs = Client(), Client()
    assert browser.login(username=clinician.username, password=TEST_PASSWORD)
    assert theirs.login(username=other_clinician.username, password=TEST_PASSWORD)
    home = reverse("lesions:home")
    assert browser.get(home).status_code == 200
    phone = client_with_token(token_for(clinician))
    assert phone.post(reverse("api:logout-all")).status_code == 204
    assert browser.get(home).status_code == 302  # sent to sign in
    assert theirs.get(home).status_code == 200  # nobody else's
    assert browser.login(username=clinician.username, password=TEST_PASSWORD)
    assert browser.get(home).status_code == 200  # and signing in again works


def test_sessions_from_before_the_field_existed_stay_signed_in(clinician):
    """Generation 0 keeps Django's own session hash: deploying signs nobody out."""
    from django.contrib.auth.base_user import AbstractBaseUser

    assert clinician.get_session_auth_hash() == AbstractBaseUser._get_session_auth_hash(clinician)
