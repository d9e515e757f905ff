FROM python:3.12-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
COPY emulator ./emulator
RUN pip install --no-cache-dir . && useradd --system --uid 10001 tiengdan
USER tiengdan
CMD ["python", "-m", "bot", "run"]
