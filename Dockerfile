# Production image for the web process and the Celery workers (docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# CPU workers serve the model through ONNX Runtime. The repository commits the default
# model's card (with the export's sha256) and its int8 export, but not the 13 MB fp32 export:
# it is made here from the committed weights (deterministic, checked against the card).
RUN python manage.py export_onnx --if-missing
RUN DJANGO_ENV=production DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

# The volumes' mount points exist in the image, so Docker gives new volumes their owner.
RUN useradd --create-home dermascan && mkdir -p /app/var/media /app/var/model-store \
    && chown -R dermascan /app/var
USER dermascan
EXPOSE 8000
CMD ["gunicorn", "dermascan_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
