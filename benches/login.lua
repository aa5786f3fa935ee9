-- wrk script: POST the credentials EMAIL and PASSWORD (env vars) to the URL given to wrk
-- (…/api/v1/auth/login).
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"email":"' .. os.getenv("EMAIL") .. '","password":"' .. os.getenv("PASSWORD") .. '"}'
