-- wrk script: POST /api/v1/auth/login with the credentials EMAIL and PASSWORD (env vars).
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"email":"' .. os.getenv("EMAIL") .. '","password":"' .. os.getenv("PASSWORD") .. '"}'
