"""The clinical domain: clinics, patients, lesions on the body map, images, analyses."""
