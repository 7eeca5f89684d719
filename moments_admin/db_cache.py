"""Django's database cache with an atomic `incr`.

Django's `incr` is a get then a set, so two processes counting at once (a web process and the
worker recording breaker failures, sign-in throttling) lose updates. Here the row is locked
first, inside a transaction (an UPDATE: a row lock on PostgreSQL, the write lock on SQLite), then
read, added to and written back with its expiry kept. Used when no Redis is configured.
"""
import base64
import pickle

from django.core.cache.backends.db import DatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now as tz_now


class AtomicDatabaseCache(DatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table, cache_key = quote(self._table), quote("cache_key")
        with transaction.atomic(using=db), connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET {quote('expires')} = {quote('expires')} WHERE {cache_key} = %s",
                           [key])  # takes the lock before the read
            cursor.execute(f"SELECT {quote('value')}, {quote('expires')} FROM {table} WHERE {cache_key} = %s", [key])
            row = cursor.fetchone()
            if row is None or self._expired(connection, row[1]):
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(base64.b64decode(connection.ops.process_clob(row[0]).encode())) + delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(f"UPDATE {table} SET {quote('value')} = %s WHERE {cache_key} = %s", [encoded, key])
        return value

    @staticmethod
    def _expired(connection, expires):
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(expression) + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        return expires < tz_now()
