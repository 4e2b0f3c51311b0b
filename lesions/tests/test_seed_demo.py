import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from lesions.models import Clinic, Lesion, LesionImage, Patient, User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-demo-passphrase"


def seed(*args):
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", "--password", PASSWORD, *args, stdout=out)
    return out.getvalue()


def test_seed_demo_creates_a_usable_demo_and_prints_the_login(media_root):
    output = seed()
    assert "username demo" in output and PASSWORD in output
    user = User.objects.get(username="demo")
    assert user.clinic.name == "DermaScan Demo Clinic"
    patient = Patient.objects.get(clinic=user.clinic)
    lesions = Lesion.objects.filter(patient=patient)
    assert lesions.count() == 2
    assert {lesion.body_view for lesion in lesions} == {"front", "back"}
    image = LesionImage.objects.get()
    assert (image.width, image.height) == (256, 256)
    assert (media_root / image.file.name).is_file()
    client = Client()
    assert client.login(username="demo", password=PASSWORD)
    assert client.get(patient.get_absolute_url()).status_code == 200


def test_seed_demo_is_idempotent():
    seed()
    seed()
    assert Clinic.objects.count() == 1
    assert User.objects.count() == 1
    assert Patient.objects.count() == 1
    assert Lesion.objects.count() == 2
    assert LesionImage.objects.count() == 1


def test_seed_demo_staff_option_creates_an_admin_login():
    output = seed("--staff", "--username", "dr-demo")
    staff = User.objects.get(username="admin")
    assert staff.is_staff and staff.is_superuser and staff.clinic is None
    assert "Staff login (admin): username admin" in output
    assert User.objects.get(username="dr-demo").clinic is not None


def test_seed_demo_without_password_outside_debug_refuses(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Give --password"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_refuses_a_weak_password():
    with pytest.raises(CommandError, match="Password refused"):
        call_command("seed_demo", "--password", "123")
